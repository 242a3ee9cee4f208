"""Keras Fashion-MNIST CNN: the channels axis goes last (channels_last)."""
import numpy as np
import keras
from keras import layers

(train_images, train_labels), _ = keras.datasets.fashion_mnist.load_data()
train_images = np.expand_dims(train_images, 1).astype("float32") / 255.0  # BUG

model = keras.Sequential([
    layers.Input(shape=(28, 28, 1)),
    layers.Conv2D(16, (3, 3), activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(10),
])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(train_images, train_labels, epochs=1, batch_size=32)  # ERR
