"""The words the pages show for the API's codes and fields (msgids; the catalogues
translate them)."""

STATUS_WORDS = {
    "submitted": "Submitted",
    "in_review": "Being processed",
    "approved": "Finished: approved",
    "rejected": "Finished: rejected",
    "cancelled": "Cancelled",
}
"""Each status in words (msgids; the catalogues translate them)."""
PROVENANCE_WORDS = {
    "self-declared": "Declared by you",
    "verified-counter": "Verified at the counter",
    "verified-face": "Verified by face",
}

PROFILE_FIELDS = {
    "full_name": "Full name",
    "kk_number": "Family card (KK) number",
    "birth_place": "Place of birth",
    "birth_date": "Date of birth",
    "sex": "Sex",
    "address.street": "Street and number",
    "address.rt": "RT",
    "address.rw": "RW",
    "address.kelurahan_desa": "Kelurahan/desa",
    "address.kecamatan": "Kecamatan",
    "address.kabupaten_kota": "Kabupaten/kota",
    "address.province": "Province",
    "religion": "Religion",
    "marital_status": "Marital status",
    "occupation": "Occupation",
    "phone": "Phone",
    "email": "E-mail",
}
"""The profile's fields a citizen declares (the NIK is fixed at registration), with
their labels (msgids); the address's parts as ``address.<part>``, as the API names them."""

UNSUR = {
    "u1": "Requirements",
    "u2": "System, mechanism and procedure",
    "u3": "Time to finish",
    "u4": "Cost or fee",
    "u5": "The product as the standard specifies it",
    "u6": "Competence of the staff",
    "u7": "Conduct of the staff",
    "u8": "Handling of complaints, suggestions and input",
    "u9": "Facilities and infrastructure",
}
"""The satisfaction survey's nine unsur (PermenPAN-RB 14/2017), as the API names them."""
SCORES = {"1": "Not good", "2": "Fairly good", "3": "Good", "4": "Very good"}

COMPLAINT_STATUS_WORDS = {
    "received": "Received; waiting for verification",
    "info_requested": "The agency asks you for more information",
    "verified": "Accepted; being followed up",
    "followed_up": "Followed up; waiting for your answer",
    "closed": "Closed",
    "rejected": "Not accepted",
}
COMPLAINT_SUBJECTS = {
    "service": "A service",
    "application": "An application",
    "officer": "An officer",
    "unit": "A unit of the agency",
}
ANONYMITY = {
    "named": "With my name",
    "confidential": "Confidential: only the complaint officers see my name",
}
