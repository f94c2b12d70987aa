"""How a trial runs: framework-specific objectives and trainables (thin, lazily imported).

Modules here import their framework on first use and raise an ``ImportError`` naming the extra
(``pip install 'nas-meta-tune[ray]'``) when it is missing.
"""
