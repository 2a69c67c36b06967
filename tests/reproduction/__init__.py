"""Independent QC reproduction of the PRECIOUS publication from the raw CRF forms."""
