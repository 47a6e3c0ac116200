package dev.visiontower.spark;

import org.apache.spark.sql.Row;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A partition's rows in batches, one batch prepared ahead: while batch {@code i} runs through the model, batch
 * {@code i+1} is already being read and decoded on the JVM's decode pool. At most two batches of input rows are held.
 *
 * @param <P> what {@link Stage#prepare} starts for a batch (decoding futures)
 */
final class BatchedRows<P> implements Iterator<Row> {
    /** The two halves of one batch's work. */
    interface Stage<P> {
        /** Starts the work that may run ahead (on other threads); must not block on the model. */
        P prepare(List<Row> rows);

        /** Finishes the batch: one output row per input row, in order. */
        List<Row> finish(List<Row> rows, P prepared);
    }

    private final Iterator<Row> in;
    private final int batch;
    private final Stage<P> stage;
    private final ArrayDeque<Row> ready = new ArrayDeque<>();
    private List<Row> nextRows;
    private P nextPrepared;

    BatchedRows(Iterator<Row> in, int batch, Stage<P> stage) {
        this.in = in;
        this.batch = batch;
        this.stage = stage;
    }

    private void prefetch() {
        if (nextRows == null && in.hasNext()) {
            List<Row> rows = new ArrayList<>(batch);
            while (rows.size() < batch && in.hasNext()) {
                rows.add(in.next());
            }
            nextRows = rows;
            nextPrepared = stage.prepare(rows);
        }
    }

    @Override
    public boolean hasNext() {
        while (ready.isEmpty()) {
            prefetch();
            if (nextRows == null) {
                return false;
            }
            List<Row> rows = nextRows;
            P prepared = nextPrepared;
            nextRows = null;
            nextPrepared = null;
            prefetch(); // the following batch decodes while this one runs
            ready.addAll(stage.finish(rows, prepared));
        }
        return true;
    }

    @Override
    public Row next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ready.removeFirst();
    }
}
