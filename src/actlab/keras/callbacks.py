"""``keras.callbacks``: History, EarlyStopping, LambdaCallback, Callback (and the progress bar)."""
from ..engine.callbacks import Callback, EarlyStopping, History, LambdaCallback, ProgbarLogger

__all__ = ["Callback", "EarlyStopping", "History", "LambdaCallback", "ProgbarLogger"]
