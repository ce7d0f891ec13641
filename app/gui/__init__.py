"""The desktop window (PySide6). The only package that imports Qt; it reaches data and models through services."""
