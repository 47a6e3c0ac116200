package dev.visiontower.api.spi;

import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bookkeeping a backend uses to implement {@link TensorScope}s and live-tensor counting. Each backend instance owns
 * one registry; each thread has its own stack of scopes.
 */
public final class TensorRegistry {
    private final AtomicLong live = new AtomicLong();
    private final ThreadLocal<Deque<Scope>> scopes = ThreadLocal.withInitial(ArrayDeque::new);

    /** Call once when a tensor is created; registers it in the current thread's innermost scope. */
    public void created(Tensor t, boolean scoped) {
        live.incrementAndGet();
        if (scoped) {
            Scope top = scopes.get().peek();
            if (top != null) {
                top.owned.add(t);
            }
        }
    }

    /** Call exactly once when a tensor's memory is released. */
    public void released() {
        live.decrementAndGet();
    }

    public long live() {
        return live.get();
    }

    public TensorScope newScope() {
        Scope s = new Scope();
        scopes.get().push(s);
        return s;
    }

    private final class Scope implements TensorScope {
        private final Set<Tensor> owned = new LinkedHashSet<>();
        private final Thread thread = Thread.currentThread();
        private boolean closed;

        @Override
        public <T extends Tensor> T keep(T tensor) {
            if (closed) {
                throw new IllegalStateException("scope is closed");
            }
            if (owned.remove(tensor)) {
                Deque<Scope> stack = scopes.get();
                Scope parent = null;
                boolean seen = false;
                for (Scope s : stack) {
                    if (seen) {
                        parent = s;
                        break;
                    }
                    seen = s == this;
                }
                if (parent != null) {
                    parent.owned.add(tensor);
                }
            }
            return tensor;
        }

        @Override
        public int size() {
            return owned.size();
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (Thread.currentThread() == thread) {
                scopes.get().remove(this);
            }
            List<Tensor> list = new ArrayList<>(owned);
            owned.clear();
            RuntimeException first = null;
            for (int i = list.size() - 1; i >= 0; i--) {
                try {
                    list.get(i).close();
                } catch (RuntimeException e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
