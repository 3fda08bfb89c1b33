"""Face verification infrastructure: the encrypted store of enrolments and photos, photo
decoding, the recognition pipeline and its backends, and the contract of the
``verify_face`` activity. Only the face worker loads the models (torch, dlib)."""
