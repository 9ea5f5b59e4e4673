"""Training a small network: the chain rule through every layer, then a step downhill.

A 64-32-10 network learns scikit-learn's 8x8 handwritten digits. Each step
computes the loss's gradient with respect to every weight in one reverse pass
and hands it to Adam.

Run: python examples/05_training_a_network.py
"""

from chainrule.explain.story import train_digits

result = train_digits(epochs=5)
built = "chainrule.nn" if result.used_nn else "chainrule's primitives"
print(f"network {' -> '.join(map(str, result.sizes))}, built with {built}")
for epoch, (loss, accuracy) in enumerate(zip(result.history["train loss"], result.history["test accuracy"]), 1):
    print(f"epoch {epoch}: train loss {loss:.4f}, test accuracy {accuracy:.3f}")
print("first test digits:", result.sample_labels.tolist())
print("predicted:        ", result.sample_predictions.tolist())
assert result.test_accuracy > 0.85, "a 64-32-10 network should pass 85% on the digits after 5 epochs"
