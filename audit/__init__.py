"""Audit logic shared by the auditors' API (``api/routers/audit.py``) and ``lincah audit``:
verifying the hash chains (``verify``), an application's trail and its state at a point in
time (``trail``), and replaying its Temporal history against today's code (``replay``)."""
