"""The domain: plain values, protocols and errors. Imports nothing from the rest of app, nor any framework."""
