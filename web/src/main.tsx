import { render } from 'preact';
import { App } from './app';
import './styles.css';
import './safety.css';

render(<App />, document.getElementById('app')!);
