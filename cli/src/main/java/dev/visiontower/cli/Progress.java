package dev.visiontower.cli;

import java.io.PrintWriter;
import java.util.Locale;

/** Progress of a long loop on stderr: rewrites one line on a terminal, prints every ~10% otherwise. */
final class Progress {
    private final PrintWriter err;
    private final String what;
    private final long total;
    private final long start = System.nanoTime();
    private final boolean terminal = System.console() != null;
    private long lastDecile = -1;
    private boolean printed;

    Progress(PrintWriter err, String what, long total) {
        this.err = err;
        this.what = what;
        this.total = total;
    }

    void update(long done) {
        double secs = (System.nanoTime() - start) / 1e9;
        double rate = secs > 0 ? done / secs : 0;
        double eta = rate > 0 ? (total - done) / rate : 0;
        String line = String.format(Locale.ROOT, "%s %d/%d (%.1f/s, %.0fs elapsed, ETA %.0fs)", what, done, total,
                rate, secs, eta);
        if (terminal) {
            int filled = (int) (20 * Math.min(done, total) / Math.max(1, total));
            err.print("\r[" + "#".repeat(filled) + "-".repeat(20 - filled) + "] " + line);
            err.flush();
            printed = true;
        } else {
            long decile = done * 10 / Math.max(1, total);
            if (decile != lastDecile) {
                lastDecile = decile;
                err.println(line);
            }
        }
    }

    void finish() {
        if (terminal && printed) {
            err.println();
        }
    }
}
