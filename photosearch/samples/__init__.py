"""Sample photos and what is built from them: synthetic photos, the demo, the self-test, evaluation."""
