/**
 * The net project's setup file: without root no namespace can be made, so every file of the suite fails
 * at once with the one line that says how to run it, instead of each test failing its own way.
 */
import { requireRoot } from './errors.js';

requireRoot();
