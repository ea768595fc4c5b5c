"""smppgate: an SMS/USSD gateway over SMPP 3.4, with an emulator of the Devino platform."""

__version__ = "0.3.0"
