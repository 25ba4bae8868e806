"""What the photo pipeline's refusals say to the person who sent the photo."""

from flask_babel import lazy_gettext as _l

PHOTO_MESSAGES = {
    "too_large": _l("The photo is larger than 10 MB. Take it again at a lower resolution."),
    "not_an_image": _l("That file is not a photo (JPEG, PNG or WebP)."),
    "conflict": _l("This photo belongs to another record."),
    "too_many_pixels": _l(
        "The image has too many pixels to be a photo. Take it again with the camera."
    ),
}
