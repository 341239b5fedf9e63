/// Title and preface of the SAN rule catalog's readable rendering.
public enum SANCatalog {
    public static let title = "SAN transport rule catalog (US 6,545,981)"
    public static let preface = """
        Every rule the SAN reference model applies, once, with a stable id. MUST and MAY restate the \
        patent; MODEL-CHOICE marks where the patent is silent and the kit decided (each with its reason). \
        Column numbers follow the printed patent; line numbers are estimated from the column markers of \
        the text in `specs/patents/`, so each citation also quotes the patent's words.
        """
}
