"""Client consent (suostumus): Kela Y100, electronic and verbal consents, recorded, enforced, revocable."""
