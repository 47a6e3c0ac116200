package dev.visiontower.server;

import dev.visiontower.api.HostTensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Dynamic batching on one model thread: images and texts from concurrent requests wait in two queues; the thread takes
 * the kind whose oldest item has waited longest, lets the batch fill for at most {@code maxWait} after that item
 * arrived (or until {@code maxBatch}), runs one forward pass and hands every caller its own row. It waits only while
 * some request is still being read or decoded ({@link #arriving}): a lone request runs at once. Other work for the
 * model (zero-shot classification) runs on the same thread between batches, so the backend is never used from two
 * threads at once. The queues are bounded: {@link #submitImage} and {@link #submitText} refuse when full.
 */
final class Batcher implements AutoCloseable {
    private record Item<I>(I input, CompletableFuture<float[]> result, long enqueued) {
    }

    private final int maxBatch;
    private final long maxWaitNanos;
    private final int maxQueue;
    private final Function<HostTensor, HostTensor> imageModel;
    private final Function<List<String>, HostTensor> textModel;
    private final Metrics metrics;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Item<HostTensor>> images = new ArrayDeque<>();
    private final ArrayDeque<Item<String>> texts = new ArrayDeque<>();
    private final ArrayDeque<Runnable> jobs = new ArrayDeque<>();
    private final Thread thread;
    private int arriving;
    private boolean closed;

    Batcher(ServerConfig config, Function<HostTensor, HostTensor> imageModel,
            Function<List<String>, HostTensor> textModel, Metrics metrics) {
        this.maxBatch = config.maxBatch();
        this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(config.maxWaitMillis());
        this.maxQueue = config.maxQueue();
        this.imageModel = imageModel;
        this.textModel = textModel;
        this.metrics = metrics;
        this.thread = new Thread(this::loop, "visiontower-model");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private int waiting() {
        return images.size() + texts.size() + jobs.size();
    }

    /**
     * A request will submit items soon ({@code +1}, when it starts being read and decoded) or has submitted them or
     * failed ({@code -1}): batches wait to fill only while some are on their way.
     */
    void arriving(int delta) {
        lock.lock();
        try {
            arriving += delta;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Queues one preprocessed image {@code [1, 3, H, W]}; null when the queue is full. */
    CompletableFuture<float[]> submitImage(HostTensor pixels) {
        return submit(images, pixels);
    }

    /** Queues one text; null when the queue is full. */
    CompletableFuture<float[]> submitText(String text) {
        return submit(texts, text);
    }

    /** Whether {@code n} more items fit in the queue now (a request's items are admitted together or not at all). */
    boolean hasRoom(int n) {
        lock.lock();
        try {
            return !closed && waiting() + n <= maxQueue;
        } finally {
            lock.unlock();
        }
    }

    private <I> CompletableFuture<float[]> submit(ArrayDeque<Item<I>> queue, I input) {
        lock.lock();
        try {
            if (closed || waiting() >= maxQueue) {
                return null;
            }
            CompletableFuture<float[]> f = new CompletableFuture<>();
            queue.addLast(new Item<>(input, f, System.nanoTime()));
            metrics.queueDepth.set(waiting());
            changed.signalAll();
            return f;
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code work} on the model thread; null when the queue is full. */
    <T> CompletableFuture<T> run(Supplier<T> work) {
        lock.lock();
        try {
            if (closed || waiting() >= maxQueue) {
                return null;
            }
            CompletableFuture<T> f = new CompletableFuture<>();
            jobs.addLast(() -> {
                try {
                    f.complete(work.get());
                } catch (RuntimeException | Error e) {
                    f.completeExceptionally(e);
                }
            });
            metrics.queueDepth.set(waiting());
            changed.signalAll();
            return f;
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (true) {
            Runnable job = null;
            List<Item<HostTensor>> imageBatch = null;
            List<Item<String>> textBatch = null;
            lock.lock();
            try {
                while (waiting() == 0 && !closed) {
                    changed.awaitUninterruptibly();
                }
                if (waiting() == 0) {
                    return; // closed and drained
                }
                if (!jobs.isEmpty()) {
                    job = jobs.removeFirst();
                } else {
                    boolean imagesFirst = texts.isEmpty()
                            || (!images.isEmpty() && images.peekFirst().enqueued() <= texts.peekFirst().enqueued());
                    ArrayDeque<? extends Item<?>> queue = imagesFirst ? images : texts;
                    long deadline = queue.peekFirst().enqueued() + maxWaitNanos;
                    // let the batch fill: until it is full, the wait is over, or we are closing
                    for (long left = deadline - System.nanoTime(); queue.size() < maxBatch && left > 0 && !closed
                            && jobs.isEmpty() && arriving > 0; left = deadline - System.nanoTime()) {
                        try {
                            changed.awaitNanos(left);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            break;
                        }
                    }
                    if (imagesFirst) {
                        imageBatch = drain(images);
                    } else {
                        textBatch = drain(texts);
                    }
                }
                metrics.queueDepth.set(waiting());
            } finally {
                lock.unlock();
            }
            if (job != null) {
                job.run();
            } else if (imageBatch != null) {
                runBatch(imageBatch, "image", items -> imageModel.apply(HostTensor.concat0(
                        items.stream().map(Item::input).toList())));
            } else {
                runBatch(textBatch, "text", items -> textModel.apply(items.stream().map(Item::input).toList()));
            }
        }
    }

    private <I> List<Item<I>> drain(ArrayDeque<Item<I>> queue) {
        List<Item<I>> out = new ArrayList<>();
        while (!queue.isEmpty() && out.size() < maxBatch) {
            out.add(queue.removeFirst());
        }
        return out;
    }

    private <I> void runBatch(List<Item<I>> items, String kind, Function<List<Item<I>>, HostTensor> model) {
        metrics.batchSize.labelValues(kind).observe(items.size());
        try {
            HostTensor out = model.apply(items);
            float[] all = out.floats();
            int d = all.length / items.size();
            for (int i = 0; i < items.size(); i++) {
                items.get(i).result().complete(java.util.Arrays.copyOfRange(all, i * d, (i + 1) * d));
            }
        } catch (RuntimeException | Error e) {
            for (Item<I> item : items) {
                item.result().completeExceptionally(e);
            }
        }
    }

    /** Stops taking work, finishes what is queued, and waits for the model thread. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(TimeUnit.MINUTES.toMillis(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
