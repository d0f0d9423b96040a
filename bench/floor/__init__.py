"""The floor of `make bench`: what a bare DRF view costs under the same gunicorn, on the same machine, in the
same run. The product's cases are reported as a share of it, which holds still when the machine is noisy."""
