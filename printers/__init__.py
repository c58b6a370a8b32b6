"""Tickets on paper: slip layout to ESC/POS bytes, drivers, decoding, and the virtual printer."""
