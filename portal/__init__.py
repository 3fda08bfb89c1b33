"""The citizen portal: server-rendered pages for the phone, in Bahasa Indonesia by
default, that speak to the Lincah API over HTTP only (as the designer does)."""
