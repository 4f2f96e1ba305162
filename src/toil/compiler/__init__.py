"""Front ends: documents and job graphs compiled into the IR (``ir.py``)."""
