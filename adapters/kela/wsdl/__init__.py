"""The Kela service description (WSDL) the simulator serves and the client reads: a package so it ships as data."""
