// The SAN transport of US 6,545,981.
