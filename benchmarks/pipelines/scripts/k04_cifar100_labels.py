"""Keras CIFAR-100: integer labels (N, 1) need sparse cross-entropy or one-hot targets."""
import keras
from keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.cifar100.load_data()
x_train = x_train / 255.0
y_train = keras.utils.to_categorical(y_train, 100)  # BUG: y_train = y_train

inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
x = layers.MaxPooling2D()(x)
x = layers.Flatten()(x)
outputs = layers.Dense(100, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(x_train, y_train, batch_size=256, epochs=1)  # ERR SH115
