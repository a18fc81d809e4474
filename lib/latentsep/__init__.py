"""latentsep."""
