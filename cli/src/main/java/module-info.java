/** The {@code visiontower} command line. Backends and model families are found on the module path. */
module dev.visiontower.cli {
    requires dev.visiontower.api;
    requires info.picocli;
    requires com.fasterxml.jackson.dataformat.csv;
    requires java.desktop;
    requires dev.visiontower.server;
    requires java.net.http; // bench --serve-clients drives the server with the JDK's client
    requires jdk.unsupported; // sun.misc.Signal: serve drains on SIGTERM and exits 0

    opens dev.visiontower.cli to info.picocli;
}
