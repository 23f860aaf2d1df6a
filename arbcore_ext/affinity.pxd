# C API of arbcore_ext.affinity: CPU pinning a later kernel can call without the GIL.
#
# Every function returns 0 on success or an errno value (EINVAL for a bad argument, ENOSYS on a
# platform without CPU affinity, otherwise what the kernel said). They do not check that the CPUs
# are available to the process; the Python entries (pin_thread, pin_process) do that.
# CPU numbers run from 0 to AFFINITY_CPU_SETSIZE - 1 (glibc's CPU_SETSIZE, 1024).

cdef enum:
    AFFINITY_CPU_SETSIZE = 1024

# Pin the calling thread (pthread_setaffinity_np(pthread_self())) to cpus[0:n].
cdef int pin_current_thread_c(const int* cpus, int n) noexcept nogil

# Pin one thread of this process by kernel thread id (sched_setaffinity(tid)); tid 0 is the
# calling thread.
cdef int pin_tid_c(int tid, const int* cpus, int n) noexcept nogil

# Write the CPUs of the calling thread's mask into out (ascending), their count into n_out.
# out must hold AFFINITY_CPU_SETSIZE ints.
cdef int current_thread_cpus_c(int* out, int* n_out) noexcept nogil

# The same for one thread by kernel thread id (sched_getaffinity(tid)).
cdef int tid_cpus_c(int tid, int* out, int* n_out) noexcept nogil
