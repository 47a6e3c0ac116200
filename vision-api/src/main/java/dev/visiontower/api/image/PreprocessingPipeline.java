package dev.visiontower.api.image;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decodes and preprocesses image files on worker threads, ahead of the consumer, and hands them out in input order,
 * a batch at a time: the forward pass of one batch overlaps the decoding of the next. At most two batches are decoded
 * ahead, so memory stays flat however many files there are.
 *
 * <p>A file that cannot be read or decoded does not stop the pipeline: its {@link Item} carries the
 * {@link InvalidInputException} instead of pixels, and the consumer decides (stop, or report and skip). Any other
 * exception (a bug, an {@link OutOfMemoryError}) is rethrown from {@link #next()}.
 *
 * <pre>{@code
 * try (var batches = new PreprocessingPipeline(files, model.preprocessor(), ImageLoadOptions.HUGGING_FACE, 2, 16)) {
 *     while (batches.hasNext()) {
 *         List<PreprocessingPipeline.Item> batch = batches.next();
 *         ...
 *     }
 * }
 * }</pre>
 */
public final class PreprocessingPipeline implements java.util.Iterator<List<PreprocessingPipeline.Item>>,
        AutoCloseable {
    /**
     * One input file, in input order.
     *
     * @param index  position in the input list
     * @param path   the file
     * @param pixels its {@code [n, 3, H, W]} model input, or {@code null} when it failed
     * @param error  why it failed, or {@code null}
     */
    public record Item(int index, Path path, HostTensor pixels, InvalidInputException error) {
        public boolean ok() {
            return error == null;
        }
    }

    private final List<Path> paths;
    private final ImagePreprocessor preprocessor;
    private final ImageLoadOptions load;
    private final int batch;
    private final int ahead;
    private final ExecutorService workers;
    private final Deque<Future<Item>> pending = new ArrayDeque<>();
    private int submitted;
    private int handedOut;

    /**
     * @param paths        files, in the order the items come out
     * @param preprocessor the model's preprocessing (thread-safe: the built-in ones are)
     * @param load         decoding options
     * @param threads      decoding threads (at least 1)
     * @param batch        items per {@link #next()} (at least 1)
     */
    public PreprocessingPipeline(List<Path> paths, ImagePreprocessor preprocessor, ImageLoadOptions load, int threads,
                                 int batch) {
        if (threads < 1 || batch < 1) {
            throw new InvalidInputException("the preprocessing pipeline needs at least one thread and a batch of at "
                    + "least 1, got " + threads + " thread(s) and a batch of " + batch);
        }
        this.paths = List.copyOf(paths);
        this.preprocessor = preprocessor;
        this.load = load;
        this.batch = batch;
        this.ahead = 2 * batch + threads;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "visiontower-decode-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        fill();
    }

    /** A sensible number of decoding threads: half the processors (the forward pass wants the rest), 1 to 8. */
    public static int defaultThreads() {
        return Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors() / 2));
    }

    private void fill() {
        while (submitted < paths.size() && submitted - handedOut < ahead) {
            int i = submitted++;
            Path p = paths.get(i);
            pending.addLast(workers.submit(() -> {
                RgbImage image;
                try {
                    image = ImageDecoding.read(p, load);
                } catch (InvalidInputException e) {
                    return new Item(i, p, null, e);
                }
                try {
                    return new Item(i, p, preprocessor.apply(image), null);
                } catch (InvalidInputException e) {
                    return new Item(i, p, null, new InvalidInputException(p + ": " + e.getMessage(), e));
                }
            }));
        }
    }

    @Override
    public boolean hasNext() {
        return handedOut < paths.size();
    }

    /** The next batch (the last may be shorter), waiting for its files to be decoded. */
    @Override
    public List<Item> next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        int n = Math.min(batch, paths.size() - handedOut);
        List<Item> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            Future<Item> f = pending.removeFirst();
            handedOut++;
            fill();
            try {
                out.add(f.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + paths.get(handedOut - 1), e);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException r) {
                    throw r;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(c);
            }
        }
        return out;
    }

    /** Stops the workers; files not yet handed out are dropped. */
    @Override
    public void close() {
        workers.shutdownNow();
        pending.clear();
    }
}
