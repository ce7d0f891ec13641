"""Where things live on this machine: data directories, settings, logging."""
