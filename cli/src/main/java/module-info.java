/** The {@code visiontower} command line. Backends and model families are found on the module path. */
module dev.visiontower.cli {
    requires dev.visiontower.api;
    requires info.picocli;
    requires com.fasterxml.jackson.dataformat.csv;
    requires java.desktop;
    requires dev.visiontower.server;
    requires jdk.unsupported; // sun.misc.Signal: serve drains on SIGTERM and exits 0

    opens dev.visiontower.cli to info.picocli;
}
