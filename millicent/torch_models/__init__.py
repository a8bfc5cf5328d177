"""PyTorch models, used only for training (the serving path runs the numpy runtime).

Importing this package imports torch; nothing under ``millicent.runtime`` or
``millicent.store`` may import it.
"""
