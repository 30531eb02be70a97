"""The live dashboard (Textual). It never speaks HTTP and never queries the store on the loop."""
