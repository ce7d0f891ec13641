"""Model runtimes: the llama.cpp worker process and its client."""
