"""A Keras convolutional autoencoder (runs on any Keras 3 backend) with a pooling stride that
shrinks the reconstruction: 128x128 in, 78x78 out, so `fit(x, x)` cannot work."""

import numpy as np
from tensorflow import keras
from tensorflow.keras.layers import Conv2D, MaxPooling2D, UpSampling2D

model = keras.Sequential([
    Conv2D(32, (3, 3), activation="relu", input_shape=(128, 128, 1)),
    MaxPooling2D((2, 2), strides=(3, 3)),  # a stride of 3 skips rows and shrinks the output
    Conv2D(16, (3, 3), activation="relu"),
    UpSampling2D((2, 2)),
    Conv2D(1, (3, 3), activation="sigmoid"),
])

model.compile(optimizer="adam", loss="binary_crossentropy")
images = np.random.rand(16, 128, 128, 1)
model.fit(images, images, epochs=1)
