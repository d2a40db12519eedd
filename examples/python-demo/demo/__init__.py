"""The Taskman demo application, in Python: `taskman demo --app examples/python-demo`."""
