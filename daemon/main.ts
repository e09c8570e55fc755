#!/usr/bin/env node
console.log('trgwd');
