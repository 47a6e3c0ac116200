/** The {@code visiontower} command line. Backends and model families are found on the module path. */
module dev.visiontower.cli {
    requires dev.visiontower.api;
    requires info.picocli;
    requires com.fasterxml.jackson.dataformat.csv;
    requires java.desktop;

    opens dev.visiontower.cli to info.picocli;
}
