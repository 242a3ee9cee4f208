"""Keras regression on NumPy features: input_dim against the data's last axis."""
import numpy as np
import keras
from keras import layers

X = np.random.rand(500, 13)
y = np.random.rand(500)
X = np.concatenate([X, np.ones((500, 1))], axis=1)  # BUG: X = np.concatenate([X, np.ones((500, 2))], axis=1)

model = keras.Sequential([layers.Dense(32, activation="relu", input_shape=(14,)), layers.Dense(1)])  # ERR
model.compile(optimizer="adam", loss="mse")
model.fit(X, y, epochs=1, batch_size=50)
