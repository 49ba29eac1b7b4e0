"""Lifecycle states of Image and ImageVersion, as the SageMaker API names them."""

CREATING = "CREATING"
CREATED = "CREATED"
CREATE_FAILED = "CREATE_FAILED"
UPDATING = "UPDATING"
UPDATE_FAILED = "UPDATE_FAILED"
DELETING = "DELETING"
DELETE_FAILED = "DELETE_FAILED"

#: States that the image settler settles by itself after ``transition_seconds``.
IMAGE_TRANSITIONAL = (CREATING, UPDATING, DELETING)
VERSION_TRANSITIONAL = (CREATING, DELETING)
