"""Python helpers the test modules import (pytest puts tests/ on the path
through conftest.py): fixtures and checks shared by several test files."""
