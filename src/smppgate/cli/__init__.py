"""The `smppgate` command line."""
