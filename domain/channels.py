"""The four service channels of MPP Digital (the programme's four service ecosystems)
and what the citizen is told when staff file an application on their behalf.

``online``: the citizen's own application over the internet; ``kiosk``: at a
self-service kiosk, in a short session opened by a face match; ``counter``: filed by an
officer at the MPP counter; ``mobile``: filed by an officer of the mobile service
(layanan keliling), at a stop or on a route.
"""

from __future__ import annotations

from typing import Final, Literal

Channel = Literal["online", "counter", "kiosk", "mobile"]
CHANNELS: Final[tuple[Channel, ...]] = ("online", "counter", "kiosk", "mobile")
"""In the order the dashboard shows them."""
StaffChannel = Literal["counter", "mobile"]
"""The channels where an officer files for the citizen."""

_WHO: Final[dict[str, str]] = {
    "counter": "petugas loket",
    "mobile": "petugas layanan keliling",
}


def filed_for_you(
    application_id: str, service_name: str, agency_name: str, channel: str, location: str | None
) -> str:
    """The citizen's notification of an application staff filed for them (Bahasa
    Indonesia), so that an application they did not make themselves never goes unseen."""
    where = f" di {location}" if location else ""
    return (
        f"Permohonan Anda {application_id} ({service_name}) diajukan oleh "
        f"{_WHO.get(channel, 'petugas')} {agency_name}{where}. Jika Anda tidak "
        "mengajukannya, hubungi loket pengaduan MPP."
    )
