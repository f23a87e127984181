"""From a real model to a per-layer format plan and its hardware (``quantrtl explore``)."""
