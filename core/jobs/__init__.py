"""Long work as jobs of chunks (Job-Steuerung): annual runs, notice rendering and the runs to
come. A job is planned once (its objects in chunks), then any number of workers, on any number
of machines, take one chunk at a time; a chunk is claimed and booked in one transaction, so a
worker that dies mid-chunk loses nothing and books nothing twice."""
