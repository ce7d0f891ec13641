"""Threadloom: a local-first desktop chat app where the thread is the product."""
