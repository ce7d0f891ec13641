"""Use cases shared by the GUI, the CLI and the tests. Plain Python: progress goes through callbacks."""
