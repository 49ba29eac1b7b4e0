"""Running SageMaker images as Studio apps: the container contract and its backends."""
