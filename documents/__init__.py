"""Issued documents (produk pelayanan) as infrastructure: their numbers (``numbering``), the
agency's signing key and signatures (``signing``), the PDF with its QR code (``pdf``), and
the contract of the ``issue_document`` activity (``contract``). The API verifies documents
with it; the activity (``activities/documents.py``) issues them."""
